"""Person and group terms, this project's own lists, written for movie reviews: the terms the fairness audit swaps
(evaluation/fairness.py), the Space's robustness view perturbs and counterfactual augmentation (train.py) trains on.

The way of using them follows the Equity Evaluation Corpus (Kiritchenko & Mohammad, *SEM 2018: sentences that differ
only in a gender term or in a first name associated with a group) and Perturbation Sensitivity Analysis (Prabhakaran
et al., EMNLP 2019: swap an entity for others of its type). No sentence or list of either is copied here. First names
stand for the groups they are often associated with (as in Caliskan et al., Science 2017); a name says nothing about
a person, which is exactly why a model's verdict should not move with it. Names that are also common English words
(Grace, Hope, Will, Mark) are left out, so a swap never changes what a sentence says.
"""

from __future__ import annotations

# (male, female) word pairs: each side swaps to the other. "her" is both "him" and "his" (perturb.py decides by the
# next word).
GENDER_WORDS = [
    ("he", "she"), ("him", "her"), ("his", "her"), ("himself", "herself"), ("man", "woman"), ("men", "women"),
    ("boy", "girl"), ("boys", "girls"), ("brother", "sister"), ("brothers", "sisters"), ("father", "mother"),
    ("dad", "mom"), ("son", "daughter"), ("sons", "daughters"), ("husband", "wife"), ("boyfriend", "girlfriend"),
    ("uncle", "aunt"), ("nephew", "niece"), ("grandfather", "grandmother"), ("grandson", "granddaughter"),
    ("gentleman", "lady"), ("gentlemen", "ladies"), ("mr", "mrs"), ("king", "queen"), ("prince", "princess"),
    ("actor", "actress"), ("actors", "actresses"), ("hero", "heroine"), ("waiter", "waitress"),
]

# Noun phrases for the audit's gender templates: (male, female, neutral) differ in the person term alone.
GENDER_PHRASES = [
    ("my brother", "my sister", "my sibling"), ("my father", "my mother", "my parent"),
    ("my son", "my daughter", "my child"), ("my husband", "my wife", "my spouse"),
    ("my boyfriend", "my girlfriend", "my partner"), ("my uncle", "my aunt", "my relative"),
    ("this man", "this woman", "this person"), ("the boy", "the girl", "the child"),
    ("my grandfather", "my grandmother", "my grandparent"), ("the actor", "the actress", "the performer"),
]

# First names, five per group, each group by gender too, so the audit can tell the axes apart.
NAMES = {
    "European-American, female": ["Emily", "Megan", "Katie", "Laura", "Heather"],
    "European-American, male": ["Greg", "Brad", "Todd", "Scott", "Geoffrey"],
    "African-American, female": ["Latoya", "Keisha", "Tamika", "Ebony", "Aaliyah"],
    "African-American, male": ["Jamal", "DeShawn", "Darnell", "Tyrone", "Malik"],
    "Hispanic, female": ["Guadalupe", "Maria", "Lucia", "Alejandra", "Marisol"],
    "Hispanic, male": ["Jose", "Alejandro", "Santiago", "Miguel", "Javier"],
    "Arabic, female": ["Fatima", "Aisha", "Layla", "Noor", "Yasmin"],
    "Arabic, male": ["Mohammed", "Omar", "Ahmed", "Khalid", "Youssef"],
    "East Asian, female": ["Mei", "Yuki", "Jiayi", "Haruka", "Minji"],
    "East Asian, male": ["Wei", "Hiroshi", "Jun", "Takeshi", "Minho"],
    "South Asian, female": ["Priya", "Ananya", "Deepika", "Lakshmi", "Aishwarya"],
    "South Asian, male": ["Rahul", "Arjun", "Vikram", "Sanjay", "Rohan"],
}

# Countries and the adjective for their people, as a review names them.
COUNTRIES = {
    "France": "French", "Germany": "German", "the United States": "American", "Britain": "British",
    "Italy": "Italian", "Japan": "Japanese", "China": "Chinese", "India": "Indian", "Nigeria": "Nigerian",
    "Mexico": "Mexican", "Brazil": "Brazilian", "Iran": "Iranian", "Afghanistan": "Afghan", "Israel": "Israeli",
    "Russia": "Russian", "Pakistan": "Pakistani", "Egypt": "Egyptian", "South Korea": "Korean",
}

# Religions as a review names a family, a community or a character ("a Muslim family").
RELIGIONS = {"Christian": "a Christian", "Muslim": "a Muslim", "Jewish": "a Jewish", "Hindu": "a Hindu",
             "Buddhist": "a Buddhist", "Sikh": "a Sikh", "atheist": "an atheist"}

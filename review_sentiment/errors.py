"""The one exception type whose message is meant for the person at the keyboard."""


class UserError(Exception):
    """Bad input or environment: the message says what is wrong and how to fix it.

    Entry points print it as a single line and exit with status 2; nothing has been written when it is raised
    before training starts.
    """

"""LINE: the officer's digest and the schools' reminders through the LINE Messaging API."""

"""Modal dialogs: first run, login, passwords, lock screen, patient and run forms."""

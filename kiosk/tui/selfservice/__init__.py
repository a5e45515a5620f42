"""The self-service screens: attract, "Who are you?", the way to the desk, the countdown."""

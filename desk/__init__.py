"""The support desk (/agent/): people on the team see, take over and answer conversations."""

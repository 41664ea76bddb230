"""What the simulated user, the scripted user and the episode loop agree on."""

STOP = "###STOP###"  # a user turn holding it ends the episode

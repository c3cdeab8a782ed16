"""neurocomp: compile spiking networks onto neuromorphic chips and emulate them bit-exactly."""

__version__ = "0.1.0"

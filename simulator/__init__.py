"""The simulated banks, payment institutions and national platform: one HTTP peer.

See docs/institution-protocol.md for the protocol it implements and `simulator/profiles.yaml`
for how each institution behaves.
"""

"""The conformance kit (`stopay conformance`): drives an institution's implementation of the
protocol (docs/institution-protocol.md) through every rule, each a named check, and reports
a pass/fail table. docs/conformance.md is its guide for banks.
"""

"""The sandbox CNAS as a provider: affiliation certificates of the insured, and contribution status
certificates of employers."""

"""Scorers behind one batched interface (`scoring.base.Scorer`), and the rules built on them."""

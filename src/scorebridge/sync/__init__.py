"""The steps of a cycle: pull, score, plan, push — and the cycle that runs them in order."""

"""The lockstep engine: every run of an experiment trained as one batched computation.

What the rest of nnviz uses is :class:`nnviz.engine.trainer.LockstepTrainer` (step, history,
diagnostics, predict_proba, hidden_outputs, state_dict); the other modules are its parts.
"""

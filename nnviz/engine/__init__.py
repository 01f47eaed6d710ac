"""The lockstep engine: every run of an experiment trained as one batched computation.

What the rest of nnviz uses is :class:`nnviz.engine.trainer.LockstepTrainer` and only its public
interface (documented in its class docstring):

* ``step(n_epochs)``, ``epoch``, ``done``, ``history()``, ``diagnostics`` (``.arrays()``);
* ``predict_proba(x)``, ``hidden_outputs(x)``, ``forward_eval(x, need_deriv)``;
* ``state_dict(run)``, ``prelu_slopes(run)``;
* ``train_inputs``, ``activation_groups``, ``grad_norms()`` (what the diagnostics read);
* ``cfg``, ``runs``, ``n_runs``, ``dims``, ``n_classes``, ``alive``, ``diverged_epoch``, ``params``
  (read only).

A trainer pickles as its :class:`~nnviz.engine.trainer.TrainerState` alone; the other modules
(kernels, params, lockstep, losses, optim, recorder, model, reference) are its parts.
"""

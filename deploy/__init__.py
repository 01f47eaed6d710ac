"""Serving nnviz to a class: N ``serve.py`` replicas behind HAProxy with sticky sessions
(``make serve``, deploy/serve.py), and the same topology for many hosts (deploy/haproxy.cfg,
deploy/kubernetes.yaml). How to run them and what they carry: docs/serving.md."""

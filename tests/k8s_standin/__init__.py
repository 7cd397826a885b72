"""A stand-in for the Kubernetes API server, for tests only. It is NOT Kubernetes.

See server.py for what it implements (apps/v1 Deployments: GET and JSON merge-patch PATCH with
resourceVersion conflicts, generation, a simulated rollout) and what it does not.
"""

"""Attribution: games and solvers over a world (Shapley, Banzhaf, but-for, decisive error,
Halpern-Pearl actual causation, probabilities of causation, change attribution).

Layer: attribution. It imports only from its own layer and the ones below it, and reaches
runs and traces only through the World protocols of :mod:`agentsim.worlds`.
"""

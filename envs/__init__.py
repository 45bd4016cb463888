"""Simulated tabletop environments; importing this package registers them with Gymnasium."""

from gymnasium.envs.registration import register

ENV_IDS = ["pahf/Tabletop-v0"]

# About 16 s of simulated time: room for several pick-and-place tasks in one episode.
register(id="pahf/Tabletop-v0", entry_point="envs.tabletop:TabletopEnv", max_episode_steps=1000)

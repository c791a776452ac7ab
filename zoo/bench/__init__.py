"""The benchmarks behind `zoo bench ...`: speed, memory and model quality, each measured the
same way and written to $ZOO_HOME/bench/<name>.json.

- `harness`: the one way to measure a step (a module-level function or a program) in a child
  process -- wall and CPU seconds, peak memory -- and to write and print the figures.
- `synth`, `refresh`, `retrieve`, `eval`, `portfolio`, `zoo`: one benchmark each, a `run()`
  that measures, prints and writes, and a `measure()` (or `time_*`) that only measures.
- `baselines`: the pandas baseline the feature refresh is compared with.
- `diagnostics`: what reads the synthetic market's truth (planted neighbours, ridge probes),
  for judging the models in `zoo`.
"""

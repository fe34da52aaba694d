"""The generation engine: timeline -> GenerationPlan -> one sampler for every AI tool.

compiler.compile() turns a range of the timeline into a plan (plan.py); tools.py builds the
timelines of the AI tools (extend, loop, blend, ...) and compiles them; backends/ run a plan on
a model family (LTX-Video, Wan, SkyReels-V2) with sampler.sample(); models.py finds and loads models offline;
run.py and cli.py write the results. Nothing here imports torch until it is used.
"""

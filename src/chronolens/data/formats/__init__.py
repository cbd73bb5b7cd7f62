"""Benchmark annotation formats: readers and writers in each dataset's native layout.

- ``qvhighlights``: QVHighlights jsonl (moment retrieval + highlight saliency).
- ``charades_sta``: Charades-STA ``vid start end##sentence`` lines.
- ``dense_captions``: YouCook2 / ActivityNet dense captions, TimeChat ``eval_dvc`` GT layout.
- ``retrieval``: MSR-VTT style ``[{"video_id", "caption"}]`` text-video pairs.
- ``timeit``: TimeIT instruction json for TimeChat-style instruction tuning.
- ``all``: write every format for a synthetic dataset.
"""

"""Analysis on scan-store DataFrames: DataFrame in, DataFrame or plain dict out. No plotting here.

- `stats`: the counts and distributions behind every report figure.
- `drift`: distribution distances between two splits, per compression setting.
- `projection`: the study's UMAP projection of (subsampling, width, height, quality) and the
  clusters ("sources") found in it.
"""

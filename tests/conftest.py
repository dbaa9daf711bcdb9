import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)  # bit-identical small runs (see shared notes); also what the notebooks use

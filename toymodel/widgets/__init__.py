"""Slider explorers over precomputed sweeps: moving a slider only redraws, it never trains.

In a notebook cell:

    SparsityExplorer(sweep)          # end the cell with it, or display(...) it

Every explorer is an ipywidgets VBox (sliders on top, the figure below) and exposes
`.sliders`, `.output` (the Output showing the current figure), `.redraw()`, `.index` (the instance
shown) and `.title` (the figure's title).  Where a slider starts is given by the value of its quantity,
never by an index: `density=` (the nearest option; None = the first), `importance_decay=`, `n_hidden=`,
`ratio=`, `name=`, `step=`.  When the cell runs, the figure of every slider setting is
drawn once to a palette PNG, each in its own Output, inside nested ipywidgets Stacks whose
selected_index follows the sliders through jslinks: the browser picks the frame.  So the explorers
work from the saved widget state alone, with no kernel (nbviewer, exported HTML, the static edition
from tools/build_site.py), and a slider move never waits on the kernel.  The cell's mime bundle also
carries the current frame as image/png, the picture JupyterLab shows before any cell has run.
Nothing leaks into the cell's own outputs (no pyplot figure is created).  The live retrainer
(LiveRetrainer) is the exception: it trains on a click, so it needs a kernel.

    explorer    the Explorer base class, DensityExplorer, density_options (and the shared frame helpers)
    core        notebooks 01-04: SparsityExplorer, ImportanceExplorer, HiddenSizeExplorer, LiveRetrainer
    phase       notebook 05: PhaseExplorer
    geometry    notebook 06: GeometryExplorer
    neurons     notebook 07: NeuronExplorer
    correlated  notebook 08: SetExplorer, RatioExplorer, TrainingScrubber
    sae         notebook 09: SAEExplorer, SAETrainingScrubber
"""

from .core import HiddenSizeExplorer, ImportanceExplorer, LiveRetrainer, SparsityExplorer
from .correlated import RatioExplorer, SetExplorer, TrainingScrubber
from .explorer import DensityExplorer, Explorer, density_options
from .geometry import GeometryExplorer
from .neurons import NeuronExplorer
from .phase import PhaseExplorer
from .sae import SAEExplorer, SAETrainingScrubber

__all__ = [
    "Explorer", "DensityExplorer", "density_options",
    "SparsityExplorer", "ImportanceExplorer", "HiddenSizeExplorer", "LiveRetrainer",
    "PhaseExplorer", "GeometryExplorer", "NeuronExplorer",
    "SetExplorer", "RatioExplorer", "TrainingScrubber",
    "SAEExplorer", "SAETrainingScrubber",
]

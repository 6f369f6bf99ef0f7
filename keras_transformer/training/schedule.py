"""Learning-rate schedules: the paper's (section 5.3, equation 3) and
BERT's linear warmup and decay, for fine-tuning."""

import keras
from keras import ops

from keras_transformer.layers.validation import non_negative_int, positive_int


@keras.saving.register_keras_serializable(package="keras_transformer")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """lrate = scale * D^-0.5 * min(step^-0.5, step * warmup^-1.5).

    The rate rises linearly for ``warmup_steps`` steps, then decays with the
    inverse square root of the step. ``step`` counts from 1 (the optimizer's
    iteration counter plus one), so the first update does not use a zero
    rate.

    With ``cooldown_steps`` the last steps of a run of ``total_steps``
    also scale the rate linearly down to zero, ``(total - step) /
    cooldown`` (the "warmup-stable-decay" recipe: a run that ends at a
    small rate ends at a lower loss than one cut off at its decayed rate).

    With ``max_rate`` the rate never exceeds that value. The formula's
    peak, ``scale * (D * warmup)^-0.5``, grows as the warmup shrinks: a
    short run's 10% warmup at D 256 peaks near 7e-3, ten times the paper's
    rate, and learns less. The cap holds the rate at ``max_rate`` until
    the inverse square root falls below it; the paper's own settings
    (warmup 4,000, D >= 256) stay under a cap of 1e-3.

    Args:
        d_model: D, the model size.
        warmup_steps: 4000 in the paper.
        scale: a multiplier (1.0 in the paper; larger for small batches).
        total_steps: the steps of the run; needed with ``cooldown_steps``.
        cooldown_steps: the final steps over which the rate falls
            linearly to zero (0: none, as in the paper).
        batches_per_update: the optimizer's ``gradient_accumulation_steps``
            (1: none). Keras calls a schedule with its count of batches;
            the schedule divides it, so that its steps are updates.
        max_rate: the highest rate (None: no cap, as in the paper).

    Example:

    >>> schedule = TransformerSchedule(d_model=512, warmup_steps=4000)
    >>> float(schedule(3999))  # the peak: 512^-0.5 * 4000^-0.5
    0.000698...
    >>> capped = TransformerSchedule(256, warmup_steps=100, max_rate=1e-3)
    >>> [round(float(capped(step)), 6) for step in (99, 4999)]
    [0.001, 0.000884]
    """

    def __init__(
        self,
        d_model,
        warmup_steps=4000,
        scale=1.0,
        total_steps=None,
        cooldown_steps=0,
        batches_per_update=1,
        max_rate=None,
    ):
        positive_int("d_model", d_model)
        positive_int("warmup_steps", warmup_steps)
        if not isinstance(scale, (int, float)) or scale <= 0:
            raise ValueError(
                f"`scale` must be a positive number. Received: {scale!r}"
            )
        non_negative_int("cooldown_steps", cooldown_steps)
        if cooldown_steps and (
            not isinstance(total_steps, int) or total_steps < cooldown_steps
        ):
            raise ValueError(
                f"`cooldown_steps={cooldown_steps}` needs `total_steps`, the "
                "steps of the run, at least as many. Received: "
                f"total_steps={total_steps!r}"
            )
        positive_int("batches_per_update", batches_per_update)
        if max_rate is not None and (
            isinstance(max_rate, bool)
            or not isinstance(max_rate, (int, float))
            or max_rate <= 0
        ):
            raise ValueError(
                "`max_rate` must be a positive number or None. Received: "
                f"{max_rate!r}"
            )
        self.max_rate = None if max_rate is None else float(max_rate)
        self.batches_per_update = batches_per_update
        self.d_model = d_model
        self.warmup_steps = warmup_steps
        self.scale = float(scale)
        self.total_steps = total_steps
        self.cooldown_steps = cooldown_steps

    def __call__(self, step):
        if self.batches_per_update > 1:
            step = ops.floor_divide(step, self.batches_per_update)
        step = ops.cast(step, "float32") + 1.0
        decay = ops.rsqrt(step)
        warmup = step * (self.warmup_steps**-1.5)
        rate = self.scale * self.d_model**-0.5 * ops.minimum(decay, warmup)
        if self.max_rate is not None:
            rate = ops.minimum(rate, self.max_rate)
        if self.cooldown_steps:
            # Step k (from 1) of n updates with the rate times (n - k + 1)
            # / c in the last c steps: the final update still moves.
            remaining = float(self.total_steps) + 1.0 - step
            rate = rate * ops.clip(remaining / self.cooldown_steps, 0.0, 1.0)
        return rate

    def get_config(self):
        return {
            "d_model": self.d_model,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
            "total_steps": self.total_steps,
            "cooldown_steps": self.cooldown_steps,
            "batches_per_update": self.batches_per_update,
            "max_rate": self.max_rate,
        }


@keras.saving.register_keras_serializable(package="keras_transformer")
class LinearSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's fine-tuning schedule: a linear rise to ``peak`` over
    ``warmup_steps``, then a linear fall to zero at ``total_steps``.

    ``step`` counts from 1 (the optimizer's iteration counter plus one):
    the first update uses ``peak / warmup_steps`` and the last
    ``peak / (total_steps - warmup_steps + 1)``.

    Args:
        peak: the highest rate (``training.learning_rate``).
        warmup_steps: updates of the rise.
        total_steps: the updates of the run.
        batches_per_update: the optimizer's ``gradient_accumulation_steps``
            (1: none); Keras counts batches, the schedule updates.

    Example:

    >>> schedule = LinearSchedule(1e-4, warmup_steps=10, total_steps=100)
    >>> float(schedule(9)), float(schedule(54))  # the peak, then half
    (0.0001, 5e-05)
    """

    def __init__(self, peak, warmup_steps, total_steps, batches_per_update=1):
        if isinstance(peak, bool) or not isinstance(peak, (int, float)):
            raise ValueError(f"`peak` must be a number. Received: {peak!r}")
        if peak <= 0:
            raise ValueError(f"`peak` must be positive. Received: {peak!r}")
        positive_int("warmup_steps", warmup_steps)
        positive_int("total_steps", total_steps)
        positive_int("batches_per_update", batches_per_update)
        if warmup_steps > total_steps:
            raise ValueError(
                f"`warmup_steps={warmup_steps}` exceeds `total_steps="
                f"{total_steps}`: warm up for fewer steps than the run has."
            )
        self.peak = float(peak)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.batches_per_update = batches_per_update

    def __call__(self, step):
        if self.batches_per_update > 1:
            step = ops.floor_divide(step, self.batches_per_update)
        step = ops.cast(step, "float32") + 1.0
        rise = step / self.warmup_steps
        decay = (self.total_steps + 1.0 - step) / (
            self.total_steps + 1.0 - self.warmup_steps
        )
        return self.peak * ops.clip(ops.minimum(rise, decay), 0.0, 1.0)

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "batches_per_update": self.batches_per_update,
        }

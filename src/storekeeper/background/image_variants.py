"""The photo variants job: a stored photo's thumbnail and medium size, made once each.

A job that runs again (after a crash, or a second upload of the same photo) makes only what
is missing: domain/images.make_variants keeps what is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storekeeper.background.runner import Handler
from storekeeper.domain import images
from storekeeper.domain.images import Pictures
from storekeeper.domain.jobs import Job
from storekeeper.domain.ports import UnitsOfWork


@dataclass(frozen=True, slots=True)
class ImageVariants:
    """What making variants needs: the database and the image codec."""

    units: UnitsOfWork
    pictures: Pictures

    def handlers(self) -> dict[str, Handler]:
        """The handler of the variants job kind."""
        return {images.MAKE_VARIANTS: self.make}

    def make(self, job: Job) -> dict[str, Any]:
        """Make the missing variants of the job's photo; the sizes made, for its result."""
        made = images.make_variants(self.units, self.pictures, str(job.payload["sha256"]))
        return {"made": made}

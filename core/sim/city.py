"""A small city for the delivery simulation, generated from a seed.

Contract: :func:`generate_city` is pure and deterministic: the same arguments give an
equal :class:`City` (``random.Random(seed)`` only, no global state). The city is a square
road grid of ``blocks`` x ``blocks`` blocks, ``block_m`` metres each, so roads run along
every ``x = i * block_m`` and ``y = j * block_m`` (``0 <= i, j <= blocks``). It is cut into
``zones_per_side`` x ``zones_per_side`` square zones, numbered row by row from the
south-west (zone ``zy * zones_per_side + zx``). Restaurants and customers sit on distinct
intersections. :meth:`City.route` is the road path between two intersections: along the
start's east-west road, then along the destination's north-south road.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Place:
    """A restaurant or a customer: an intersection of the grid and its zone."""

    id: int
    x: float
    y: float
    zone: int

    @property
    def point(self) -> Point:
        return (self.x, self.y)


@dataclass(frozen=True, slots=True)
class City:
    seed: int
    blocks: int
    block_m: float
    zones_per_side: int
    restaurants: tuple[Place, ...]
    customers: tuple[Place, ...]

    @property
    def size_m(self) -> float:
        return self.blocks * self.block_m

    @property
    def zone_count(self) -> int:
        return self.zones_per_side * self.zones_per_side

    def zone_of(self, x: float, y: float) -> int:
        """The zone holding ``(x, y)`` (points on the city's edge belong to the edge zone)."""
        side = self.size_m / self.zones_per_side
        zx = min(int(max(x, 0.0) // side), self.zones_per_side - 1)
        zy = min(int(max(y, 0.0) // side), self.zones_per_side - 1)
        return zy * self.zones_per_side + zx

    def route(self, start: Point, end: Point) -> list[Point]:
        """Waypoints (excluding ``start``) driving on roads from one intersection to another."""
        corner = (end[0], start[1])
        return [p for p in (corner, end) if p != start] or [end]


def generate_city(
    seed: int,
    *,
    blocks: int = 16,
    block_m: float = 100.0,
    zones_per_side: int = 3,
    restaurants: int = 20,
    customers: int = 150,
) -> City:
    """The city of ``seed``: same arguments, equal city."""
    if blocks < 1 or zones_per_side < 1 or block_m <= 0:
        raise ValueError("blocks, zones_per_side and block_m must be positive")
    intersections = [(i, j) for j in range(blocks + 1) for i in range(blocks + 1)]
    if restaurants < 1 or customers < 1 or restaurants + customers > len(intersections):
        raise ValueError(
            f"need 1..{len(intersections)} places in all, with at least one of each kind"
        )
    rng = random.Random(seed)
    chosen = rng.sample(intersections, restaurants + customers)
    shell = City(seed, blocks, block_m, zones_per_side, (), ())

    def place(n: int, ij: tuple[int, int]) -> Place:
        x, y = ij[0] * block_m, ij[1] * block_m
        return Place(n, x, y, shell.zone_of(x, y))

    return City(
        seed, blocks, block_m, zones_per_side,
        tuple(place(n, ij) for n, ij in enumerate(chosen[:restaurants])),
        tuple(place(n, ij) for n, ij in enumerate(chosen[restaurants:])),
    )

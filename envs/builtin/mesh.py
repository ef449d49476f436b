"""Triangle mesh of a house for the renderer: floors, ceilings, both faces of every wall (with door
openings, jambs, lintels and thresholds) and the furniture, in one indexed vertex buffer.

Lighting is baked: into the vertex colours (a hemisphere term from the normal, a soft light at the centre
of each room, darkening near wall corners; walls have a few vertex columns near corners for it) and, for
floors and ceilings, into a ``lightmap`` (one quad per room, contact shadows under furniture). The fragment
shader multiplies the colour by a texture pattern (and the lightmap, or a darkening near floor and ceiling).
Few triangles matter more than few pixels: Mesa's CPU rasteriser pays mostly per triangle. The
geometry of each room is contiguous (``HouseMesh.chunks``) so the renderer can skip rooms out of view.

Vertex layout, float32 x 9: position (x, y, z), lit colour (r, g, b), texture (u, v, layer); floor and
ceiling vertices (``surface_vertices``) add lightmap (u, v): float32 x 11.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navagent.envs.builtin.furniture import WALL_THICKNESS
from navagent.envs.builtin.furniture_mesh import Primitive, furniture_primitives
from navagent.envs.builtin.house import Box2D, Doorway, FurnitureObject, House, Room
from navagent.envs.builtin.lightmap import Lightmap, bake_lightmap, room_light
from navagent.envs.builtin.textures import LAYER, TEXTURE_SCALE

DOOR_HEIGHT = 2.1
CEILING_COLOR = (0.95, 0.95, 0.93)
THRESHOLD_COLOR = (0.45, 0.32, 0.22)
_KEY = np.array([0.5, 0.0, 0.8]) / np.hypot(0.5, 0.8)  # horizontal key direction: walls differ in shade


@dataclass
class HouseMesh:
    """vertices (N, 9) float32, indices (M,) uint32 (triangles), chunks: one (first index, index count,
    room bounds) per room, in room order; surface_vertices (K, 11) float32 and surface_indices (L,) uint32:
    the floors and ceilings, lit by ``lightmap``."""

    vertices: np.ndarray
    indices: np.ndarray
    chunks: list[tuple[int, int, Box2D]]
    surface_vertices: np.ndarray
    surface_indices: np.ndarray
    lightmap: Lightmap


class MeshBuilder:
    """Accumulates lit, textured triangles."""

    def __init__(self, extra_columns: int = 0) -> None:
        self.extra_columns = extra_columns
        self._vertices: list[np.ndarray] = []
        self._indices: list[np.ndarray] = []
        self.vertex_count = 0
        self.index_count = 0

    def add(
        self,
        positions: np.ndarray,
        normals: np.ndarray,
        uv: np.ndarray,
        triangles: np.ndarray,
        color: tuple[float, float, float],
        layer: str,
        brightness: np.ndarray | None = None,
        extra: np.ndarray | None = None,
    ) -> None:
        """positions/normals (n, 3), uv (n, 2) in metres, triangles (m, 3) counter-clockwise seen from the
        normal's side, brightness (n,) extra light factor (room light, occlusion), extra (n, extra_columns)."""
        shade = 0.7 + 0.2 * normals[:, 1] + 0.12 * (normals @ _KEY)
        if brightness is not None:
            shade = shade * brightness
        colors = np.asarray(color, np.float64)[None, :] * shade[:, None]
        scale_u, scale_v = TEXTURE_SCALE[layer]
        texcoords = np.column_stack([uv[:, 0] / scale_u, uv[:, 1] / scale_v, np.full(len(uv), LAYER[layer])])
        columns = [positions, colors, texcoords] + ([extra] if self.extra_columns else [])
        self._vertices.append(np.hstack(columns).astype(np.float32))
        self._indices.append((triangles + self.vertex_count).astype(np.uint32).ravel())
        self.vertex_count += len(positions)
        self.index_count += triangles.size

    def grid(
        self,
        origin: np.ndarray,
        axis_u: np.ndarray,
        axis_v: np.ndarray,
        us: np.ndarray,
        vs: np.ndarray,
        color: tuple[float, float, float],
        layer: str,
        light=None,
        uv_origin: np.ndarray | None = None,
        extra=None,
    ) -> None:
        """A planar grid of quads at ``origin + u * axis_u + v * axis_v`` (unit axes) for u in ``us``,
        v in ``vs``; it faces ``axis_u x axis_v``. ``light(positions (n, 3)) -> (n,)`` scales brightness.
        Texture coordinates are the world position projected on the axes (continuous across pieces).
        ``extra(positions) -> (n, extra_columns)`` fills the extra vertex columns."""
        uu, vv = np.meshgrid(us, vs, indexing="xy")  # (len(vs), len(us))
        positions = (
            origin[None, :] + uu.reshape(-1, 1) * axis_u[None, :] + vv.reshape(-1, 1) * axis_v[None, :]
        )
        normal = np.cross(axis_u, axis_v)
        base = (positions - (uv_origin if uv_origin is not None else 0.0)) @ np.stack(
            [axis_u, axis_v], axis=1
        )
        nu = len(us)
        cells = np.arange((len(vs) - 1) * nu).reshape(len(vs) - 1, nu)[:, :-1].ravel()
        quads = np.stack([cells, cells + 1, cells + nu + 1, cells + nu], axis=1)
        triangles = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
        normals = np.repeat(normal[None, :], len(positions), axis=0)
        brightness = light(positions) if light is not None else None
        self.add(
            positions, normals, base, triangles, color, layer, brightness, extra(positions) if extra else None
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """vertices (N, 9 + extra_columns) float32, indices (M,) uint32."""
        vertices = (
            np.concatenate(self._vertices)
            if self._vertices
            else np.zeros((0, 9 + self.extra_columns), np.float32)
        )
        indices = np.concatenate(self._indices) if self._indices else np.zeros(0, np.uint32)
        return vertices, indices


def _room_light(room: Room, wall_height: float):
    """Brightness factor of the room's lamp for positions (n, 3)."""
    return lambda p: room_light(room, p[:, 0], p[:, 1], p[:, 2], wall_height)


def _add_floor_and_ceiling(surfaces: MeshBuilder, room: Room, height: float, lightmap: Lightmap) -> None:
    """One quad each (lit by the lightmap)."""
    inner = room.bounds.inflate(-WALL_THICKNESS / 2)
    xs, zs = np.array([inner.x0, inner.x1]), np.array([inner.z0, inner.z1])
    x_axis, z_axis = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    # the floor faces +y: u along +z, v along +x (z x x = +y)
    surfaces.grid(np.zeros(3), z_axis, x_axis, zs, xs, room.floor_color, room.floor_pattern,
                  extra=lambda p: lightmap.uv(p[:, 0], p[:, 2], ceiling=False))  # fmt: skip
    surfaces.grid(np.array([0, height, 0]), x_axis, z_axis, xs, zs, CEILING_COLOR, "plain",
                  extra=lambda p: lightmap.uv(p[:, 0], p[:, 2], ceiling=True))  # fmt: skip


def _sides(room: Room):
    """The four inner wall faces: (fixed axis coordinate, the axis the wall runs along, inward normal,
    start, end of the room border along the wall)."""
    b = room.bounds
    return [
        ("x", b.z0, np.array([0, 0, 1.0]), b.x0, b.x1),
        ("x", b.z1, np.array([0, 0, -1.0]), b.x0, b.x1),
        ("z", b.x0, np.array([1.0, 0, 0]), b.z0, b.z1),
        ("z", b.x1, np.array([-1.0, 0, 0]), b.z0, b.z1),
    ]


def _door_spans(doorways: list[Doorway], axis: str, fixed: float, lo: float, hi: float) -> list[tuple]:
    spans = []
    for d in doorways:
        along, across = (d.center[0], d.center[1]) if axis == "x" else (d.center[1], d.center[0])
        if d.axis == axis and abs(across - fixed) < 1e-6 and lo < along < hi:
            spans.append((along - d.width / 2, along + d.width / 2))
    return sorted(spans)


def _add_walls(builder: MeshBuilder, room: Room, doorways: list[Doorway], height: float) -> None:
    half = WALL_THICKNESS / 2
    light = _room_light(room, height)
    for axis, fixed, normal, lo, hi in _sides(room):
        start, end = lo + half, hi - half
        face = fixed + half * (normal[2] if axis == "x" else normal[0])
        along_axis = np.array([1.0, 0, 0]) if axis == "x" else np.array([0, 0, 1.0])
        origin = np.array([0, height, face]) if axis == "x" else np.array([face, height, 0])
        down = np.array([0, -1.0, 0])
        # u along the wall, v downwards from the ceiling (so 'panels' sit at the bottom); fix the winding
        axis_u = along_axis if np.dot(np.cross(along_axis, down), normal) > 0 else -along_axis

        def wall_light(p: np.ndarray, start=start, end=end, axis=axis) -> np.ndarray:
            t = p[:, 0] if axis == "x" else p[:, 2]
            to_corner = np.minimum(t - start, end - t)
            return light(p) * (1 - 0.22 * np.exp(-to_corner / 0.15))

        doors = _door_spans(doorways, axis, fixed, lo, hi)
        edges = [start] + [v for span in doors for v in span] + [end]
        columns = (start, end)
        for i in range(0, len(edges), 2):  # full-height pieces between doors
            a, b = edges[i], edges[i + 1]
            if b - a > 1e-6:
                _wall_piece(builder, origin, axis_u, _columns(a, b, columns), (0.0, height), room, wall_light)
        for a, b in doors:  # lintels above doors
            _wall_piece(
                builder, origin, axis_u, _columns(a, b, columns), (DOOR_HEIGHT, height), room, wall_light
            )


def _columns(a: float, b: float, corners: tuple[float, float], step: float = 2.5) -> np.ndarray:
    """Vertex columns of the wall piece a..b: its ends, a few near the room corners (for the corner
    darkening) and at most ``step`` apart (for the room light's gradient)."""
    points = [a, b, *np.linspace(a, b, max(1, int(np.ceil((b - a) / step))) + 1)]
    for offset in (0.15, 0.45):
        points += [c for c in (corners[0] + offset, corners[1] - offset) if a < c < b]
    return np.unique(np.round(points, 4))


def _wall_piece(builder: MeshBuilder, origin: np.ndarray, axis_u: np.ndarray, columns: np.ndarray,
                rows: tuple[float, float], room: Room, light) -> None:  # fmt: skip
    """The part of a wall face at along-wall coordinates ``columns`` between heights ``rows``; ``origin``
    lies on the face at along-coordinate 0 and ceiling height, ``axis_u`` is +-(the along axis)."""
    sign = float(axis_u.sum())  # u = sign * along-wall coordinate
    us = np.sort(sign * columns)
    vs = np.sort(origin[1] - np.asarray(rows))  # v runs down from the ceiling
    down = np.array([0, -1.0, 0])
    builder.grid(origin, axis_u, down, us, vs, room.wall_color, room.wall_pattern, light,
                 uv_origin=np.array([0, origin[1], 0]))  # fmt: skip


def _add_door_frames(builder: MeshBuilder, doorway: Doorway, rooms: tuple[Room, ...]) -> None:
    """Jambs, lintel underside and threshold of one doorway (coloured like its first room)."""
    room = rooms[doorway.rooms[0]]
    half = WALL_THICKNESS / 2
    cx, cz = doorway.center
    along = np.array([1.0, 0, 0]) if doorway.axis == "x" else np.array([0, 0, 1.0])
    across = np.array([0, 0, 1.0]) if doorway.axis == "x" else np.array([1.0, 0, 0])
    center = np.array([cx, 0, cz])
    up = np.array([0, 1.0, 0])
    for side in (-1.0, 1.0):  # jambs face the opening's centre
        inward = -side * along
        axis_u = across if np.dot(np.cross(across, up), inward) > 0 else -across
        origin = center + side * along * doorway.width / 2
        us = np.sort(np.array([-half, half]) * axis_u.sum())
        builder.grid(origin, axis_u, up, us, np.array([0.0, DOOR_HEIGHT]), room.wall_color, "plain", None)
    widths = np.array([-doorway.width / 2, doorway.width / 2])
    depths = np.array([-half, half])
    # lintel underside faces -y: along x across (for axis x: x cross z = -y)
    a_u, a_v = (along, across) if np.dot(np.cross(along, across), -up) > 0 else (across, along)
    us, vs = (widths, depths) if a_u is along else (depths, widths)
    builder.grid(center + up * DOOR_HEIGHT, a_u, a_v, us, vs, room.wall_color, "plain", None)
    builder.grid(center + up * 0.001, a_v, a_u, vs, us, THRESHOLD_COLOR, "woodgrain", None)


def _add_furniture(builder: MeshBuilder, obj: FurnitureObject, room: Room, height: float) -> None:
    light = _room_light(room, height)
    fp = obj.footprint
    cx, cz = fp.center
    yaw = np.radians(obj.yaw_deg)
    c, s = round(float(np.cos(yaw))), round(float(np.sin(yaw)))
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], float)  # local (x, y, z) -> world, about +y
    width, depth = (fp.width, fp.depth) if obj.yaw_deg % 180 == 0 else (fp.depth, fp.width)
    for prim in furniture_primitives(obj, width, depth):
        for layer, (positions, normals, uv, triangles) in _primitive_geometry(prim):
            world = positions @ rotation.T + np.array([cx, 0.0, cz])
            builder.add(world, normals @ rotation.T, uv, triangles, prim.color, layer, light(world))


def _primitive_geometry(prim: Primitive) -> list[tuple[str, tuple]]:
    """(layer, (positions, normals, uv, triangles)) groups of one primitive in its object's frame."""
    if prim.kind == "cylinder":
        return [(prim.layer, _cylinder_geometry(prim))]
    low, high = np.asarray(prim.low, float), np.asarray(prim.high, float)
    special = {4: prim.front, 2: prim.top}  # +z and +y faces of _BOX_FACES
    faces = [k for k in range(6) if not (k == 3 and low[1] <= 1e-6)]  # no bottom face on the floor
    groups = [(prim.layer, [k for k in faces if not special.get(k)])]
    groups += [(special[k], [k]) for k in (4, 2) if special[k] and k in faces]
    return [(layer, _box_geometry(low, high, ks, fitted=layer != prim.layer)) for layer, ks in groups if ks]


_BOX_FACES = [  # (normal axis, sign, u axis, v axis) with u x v = sign * e_axis
    (0, 1, 1, 2), (0, -1, 2, 1), (1, 1, 2, 0), (1, -1, 0, 2), (2, 1, 0, 1), (2, -1, 1, 0),
]  # fmt: skip


def _box_geometry(low: np.ndarray, high: np.ndarray, faces: list[int], fitted: bool = False):
    """Faces (indices into _BOX_FACES) of a box, 4 vertices each: positions, normals (4f, 3), uv (4f, 2),
    triangles (2f, 3). ``fitted``: uv spans [0, 1] over each face (v from the top down on sides)."""
    positions, normals, uvs, triangles = [], [], [], []
    for n, k in enumerate(faces):
        axis, sign, ua, va = _BOX_FACES[k]
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            p = low.copy()
            p[axis] = high[axis] if sign > 0 else low[axis]
            p[ua] = high[ua] if du else low[ua]
            p[va] = high[va] if dv else low[va]
            positions.append(p)
            uvs.append((du, 1 - dv if va == 1 else dv) if fitted else (p[ua], p[va]))
        normal = np.zeros(3)
        normal[axis] = sign
        normals += [normal] * 4
        triangles += [[4 * n, 4 * n + 1, 4 * n + 2], [4 * n, 4 * n + 2, 4 * n + 3]]
    return np.array(positions), np.array(normals), np.array(uvs, float), np.array(triangles)


def _cylinder_geometry(prim: Primitive, segments: int = 8):
    """Vertical cylinder or cone frustum with caps: centre ``prim.low`` (x, y0, z), radii and height."""
    x, y0, z = prim.low
    r0, r1, h = prim.high
    angles = np.linspace(0, 2 * np.pi, segments + 1)
    cos, sin = np.cos(angles), np.sin(angles)
    bottom = np.column_stack([x + r0 * cos, np.full_like(cos, y0), z + r0 * sin])
    top = np.column_stack([x + r1 * cos, np.full_like(cos, y0 + h), z + r1 * sin])
    slope = (r0 - r1) / max(h, 1e-6)
    side_normals = np.column_stack([cos, np.full_like(cos, slope), sin])
    side_normals /= np.linalg.norm(side_normals, axis=1, keepdims=True)
    positions = np.concatenate([bottom, top])
    normals = np.concatenate([side_normals, side_normals])
    uv = np.concatenate(
        [np.column_stack([angles * r0, bottom[:, 1]]), np.column_stack([angles * r1, top[:, 1]])]
    )
    n = segments + 1
    i = np.arange(segments)
    triangles = np.concatenate([np.stack([i, i + n, i + 1], 1), np.stack([i + 1, i + n, i + n + 1], 1)])
    # top cap (a fan around an added centre vertex)
    cap_center = np.array([[x, y0 + h, z]])
    positions = np.concatenate([positions, top, cap_center])
    normals = np.concatenate([normals, np.tile([0, 1.0, 0], (n + 1, 1))])
    uv = np.concatenate([uv, top[:, [0, 2]], cap_center[:, [0, 2]]])
    center_index, ring = 2 * n + n, 2 * n + i
    cap = np.stack([np.full(segments, center_index), ring + 1, ring], 1)
    return positions, normals, uv, np.concatenate([triangles, cap])


def build_house_mesh(house: House) -> HouseMesh:
    """The whole house as one indexed, lit, textured mesh with one chunk per room, plus floors/ceilings."""
    builder, surfaces = MeshBuilder(), MeshBuilder(extra_columns=2)
    lightmap = bake_lightmap(house)
    chunks = []
    for room in house.rooms:
        first = builder.index_count
        objects = [o for o in house.objects if o.room_index == room.index]
        doorways = [d for d in house.doorways if room.index in d.rooms]
        # occluders first: the renderer draws near rooms first too, so early depth tests skip hidden pixels
        for obj in objects:
            _add_furniture(builder, obj, room, house.wall_height)
        _add_walls(builder, room, doorways, house.wall_height)
        for doorway in doorways:
            if doorway.rooms[0] == room.index:
                _add_door_frames(builder, doorway, house.rooms)
        _add_floor_and_ceiling(surfaces, room, house.wall_height, lightmap)
        chunks.append((first, builder.index_count - first, room.bounds))
    return HouseMesh(*builder.arrays(), chunks, *surfaces.arrays(), lightmap)

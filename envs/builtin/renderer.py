"""Headless moderngl (EGL) renderer of procedural houses: RGB uint8 and depth float32 frames.

Camera convention (Habitat's): y up, the camera sits ``camera_height`` above the agent position, heading 0
looks along -z and a larger heading turns left (counter-clockwise seen from above). Depth is the distance
along the optical axis in metres, like Habitat's depth sensor (not the distance to the camera centre).

Cost (Mesa llvmpipe pays mostly per triangle): the house is one indexed vertex buffer with lighting baked
(see ``mesh``); each frame draws the walls and furniture of the rooms whose bounding boxes intersect the
view frustum, nearest first (one draw call per room), then all floors and ceilings (one quad each, lit by a
lightmap) in one call, with shaders that only multiply the vertex colour by a texture pattern; then it
reads the colour (and linear depth) attachment back with ``Framebuffer.read``.

Rasterizer threads (the one place they are set): Mesa's llvmpipe reads ``LP_NUM_THREADS`` when the first GL
context of a process is created. ``HouseRenderer(raster_threads=RASTER_THREADS)`` sets it (0: draw in the
calling thread) unless the environment already names a value, so the gym env, vector env workers, evaluation
and benchmarks all get the fast setting — one simulator per core; at 224 px 458 steps/s vs 358 with
llvmpipe's own threads, one machine, one run (issue 12) — without an environment variable. ``None`` leaves
the environment alone. Rendering on a GPU EGL device ignores it.
"""

from __future__ import annotations

import math
import os

import moderngl
import numpy as np

from navagent.envs.builtin.house import House
from navagent.envs.builtin.lightmap import LIGHTMAP_RANGE
from navagent.envs.builtin.mesh import HouseMesh, build_house_mesh
from navagent.envs.builtin.textures import build_texture_layers

RASTER_THREADS = 0  # llvmpipe's LP_NUM_THREADS default (see the module docstring)
_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_position;
in vec3 in_color;
in vec3 in_uvl;
out vec3 v_color;
out vec3 v_uvl;
out float v_height;
#ifdef WITH_DEPTH
out float v_depth;
#endif
#ifdef WITH_LIGHTMAP
in vec2 in_lightmap;
out vec2 v_lightmap;
#endif
void main() {
    gl_Position = mvp * vec4(in_position, 1.0);
    v_color = in_color;
    v_uvl = in_uvl;
    v_height = in_position.y;
#ifdef WITH_DEPTH
    v_depth = gl_Position.w;  // = -z in eye space: the distance along the optical axis
#endif
#ifdef WITH_LIGHTMAP
    v_lightmap = in_lightmap;
#endif
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform sampler2DArray patterns;
uniform float wall_height;
in vec3 v_color;
in vec3 v_uvl;
in float v_height;
layout(location = 0) out vec4 f_color;
#ifdef WITH_DEPTH
in float v_depth;
layout(location = 1) out float f_depth;
#endif
#ifdef WITH_LIGHTMAP
uniform sampler2D lightmap;
uniform float lightmap_range;
in vec2 v_lightmap;
#endif
void main() {
    vec3 color = v_color * texture(patterns, v_uvl).rgb * 2.0;
#ifdef WITH_LIGHTMAP
    color *= texture(lightmap, v_lightmap).r * lightmap_range;
#else
    // darker near the floor and the ceiling (ambient occlusion, cheap)
    float low = clamp(1.0 - v_height * 3.5, 0.0, 1.0);
    float high = clamp(1.0 - (wall_height - v_height) * 4.0, 0.0, 1.0);
    color *= 1.0 - 0.32 * low * low - 0.15 * high * high;
#endif
    f_color = vec4(color, 1.0);
#ifdef WITH_DEPTH
    f_depth = v_depth;
#endif
}
"""


def perspective(hfov_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """OpenGL projection (4, 4) for a horizontal field of view and aspect = width / height."""
    fx = 1.0 / math.tan(math.radians(hfov_deg) / 2.0)
    fy = fx * aspect
    return np.array(
        [
            [fx, 0, 0, 0],
            [0, fy, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ]
    )


def view_matrix(eye: np.ndarray, heading: float) -> np.ndarray:
    """World -> camera (4, 4): the camera at ``eye`` (3,) looks along (-sin h, 0, -cos h)."""
    c, s = math.cos(heading), math.sin(heading)
    right, up, back = np.array([c, 0.0, -s]), np.array([0.0, 1.0, 0.0]), np.array([s, 0.0, c])
    rotation = np.stack([right, up, back])
    view = np.eye(4)
    view[:3, :3] = rotation
    view[:3, 3] = -rotation @ eye
    return view


def _set_uniform(program: moderngl.Program, name: str, value) -> None:
    """Set a uniform if the compiled shader kept it (the GLSL compiler drops unused ones)."""
    if name in program:
        program[name].value = value


class HouseRenderer:
    """Renders one house at a time from agent poses.

    ``render(position (3,), heading) -> (rgb (H, W, 3) uint8, depth (H, W) float32 metres or None)``;
    image row 0 is the top of the view. ``device_index`` picks the EGL device (GPU) on multi-GPU machines;
    ``raster_threads``: llvmpipe's ``LP_NUM_THREADS`` for this process (module docstring).
    """

    def __init__(
        self,
        width: int = 224,
        height: int = 224,
        hfov_deg: float = 90.0,
        camera_height: float = 1.25,
        depth: bool = True,
        device_index: int | None = None,
        near: float = 0.05,
        far: float = 100.0,
        raster_threads: int | None = RASTER_THREADS,
    ) -> None:
        if int(width) != width or int(height) != height or width <= 0 or height <= 0:
            raise ValueError(f"renderer width/height must be positive integers, got {width}x{height}")
        if not 0.0 < hfov_deg < 180.0:
            raise ValueError(f"renderer hfov_deg must be in (0, 180), got {hfov_deg}")
        self.width, self.height, self.hfov_deg = int(width), int(height), float(hfov_deg)
        self.camera_height, self.depth = float(camera_height), bool(depth)
        self.projection = perspective(self.hfov_deg, self.width / self.height, near, far)
        options = (
            {"backend": "egl"}
            if device_index is None
            else {"backend": "egl", "device_index": int(device_index)}
        )
        if raster_threads is not None:
            os.environ.setdefault("LP_NUM_THREADS", str(int(raster_threads)))  # before the context
        self.ctx = moderngl.create_standalone_context(**options)
        self.program = self._program(lightmap=False)
        self.surface_program = self._program(lightmap=True)
        _set_uniform(self.surface_program, "lightmap", 1)
        _set_uniform(self.surface_program, "lightmap_range", LIGHTMAP_RANGE)
        size = (self.width, self.height)
        attachments = [self.ctx.renderbuffer(size, components=4)]
        if self.depth:
            attachments.append(self.ctx.renderbuffer(size, components=1, dtype="f4"))
        self.fbo = self.ctx.framebuffer(attachments, self.ctx.depth_renderbuffer(size))
        layers = build_texture_layers()
        self.texture = self.ctx.texture_array(layers.shape[2:0:-1] + (layers.shape[0],), 3, layers.tobytes())
        self.texture.build_mipmaps()
        self.texture.filter = (moderngl.NEAREST_MIPMAP_NEAREST, moderngl.LINEAR)  # cheapest mipmapping
        self.house: House | None = None
        self.mesh: HouseMesh | None = None
        self._resources: list = []
        self._vao = self._surface_vao = self._lightmap = None

    def _program(self, lightmap: bool) -> moderngl.Program:
        defines = ("#define WITH_DEPTH\n" if self.depth else "") + (
            "#define WITH_LIGHTMAP\n" if lightmap else ""
        )
        vertex, fragment = (
            src.replace("#version 330\n", "#version 330\n" + defines, 1)
            for src in (_VERTEX_SHADER, _FRAGMENT_SHADER)
        )
        return self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)

    def set_house(self, house: House) -> None:
        """Upload ``house``'s mesh and lightmap (replaces the previous house)."""
        self._release_buffers()
        mesh = build_house_mesh(house)
        vbo, ibo = self.ctx.buffer(mesh.vertices.tobytes()), self.ctx.buffer(mesh.indices.tobytes())
        attributes = ("in_position", "in_color", "in_uvl")
        self._vao = self.ctx.vertex_array(
            self.program, [(vbo, "3f 3f 3f", *attributes)], ibo, index_element_size=4
        )
        surface_vbo = self.ctx.buffer(mesh.surface_vertices.tobytes())
        surface_ibo = self.ctx.buffer(mesh.surface_indices.tobytes())
        self._surface_vao = self.ctx.vertex_array(
            self.surface_program,
            [(surface_vbo, "3f 3f 3f 2f", *attributes, "in_lightmap")],
            surface_ibo,
            index_element_size=4,
        )
        image = mesh.lightmap.image
        self._lightmap = self.ctx.texture((image.shape[1], image.shape[0]), 1, image.tobytes(), alignment=1)
        self._lightmap.repeat_x = self._lightmap.repeat_y = False
        self._resources = [self._vao, self._surface_vao, vbo, ibo, surface_vbo, surface_ibo, self._lightmap]
        _set_uniform(self.program, "wall_height", house.wall_height)
        boxes = [bounds.inflate(0.1) for _, _, bounds in mesh.chunks]  # walls and door frames stick out
        self._room_boxes = np.array([(b.x0, b.z0, b.x1, b.z1) for b in boxes])
        self._room_corners = np.array(
            [
                [(x, y, z, 1.0) for x in (b.x0, b.x1) for y in (0.0, house.wall_height) for z in (b.z0, b.z1)]
                for b in boxes
            ]
        )  # (rooms, 8, 4)
        self.mesh, self.house = mesh, house

    def render(self, position: np.ndarray, heading: float) -> tuple[np.ndarray, np.ndarray | None]:
        """rgb (H, W, 3) uint8 and depth (H, W) float32 (None when disabled) seen from ``position`` (3,)
        (the agent's feet) with yaw ``heading``."""
        if self._vao is None or self.mesh is None:
            raise RuntimeError("HouseRenderer.render called before set_house")
        position = np.asarray(position, dtype=np.float64).reshape(3)
        eye = position + np.array([0.0, self.camera_height, 0.0])
        mvp = self.projection @ view_matrix(eye, float(heading))
        matrix = mvp.T.astype("f4").tobytes()
        self.program["mvp"].write(matrix)
        self.surface_program["mvp"].write(matrix)
        self.fbo.use()
        self.ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        self.fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        self.texture.use(0)
        self._lightmap.use(1)
        for first, count in self._visible_ranges(mvp, eye):  # walls and furniture, nearest room first
            self._vao.render(moderngl.TRIANGLES, vertices=count, first=first)
        self._surface_vao.render(moderngl.TRIANGLES)  # floors and ceilings last: mostly hidden pixels skip
        rgb = np.frombuffer(self.fbo.read(components=3, attachment=0), np.uint8)
        rgb = rgb.reshape(self.height, self.width, 3)[::-1].copy()  # GL's row 0 is the bottom
        if not self.depth:
            return rgb, None
        depth = np.frombuffer(self.fbo.read(components=1, attachment=1, dtype="f4"), np.float32)
        return rgb, depth.reshape(self.height, self.width)[::-1].copy()

    def _visible_ranges(self, mvp: np.ndarray, eye: np.ndarray) -> list[tuple[int, int]]:
        """Index ranges (first, count) of the rooms whose boxes may be in view, nearest room first (so the
        early depth test rejects most hidden pixels before shading)."""
        x, y, z, w = np.moveaxis(self._room_corners @ mvp.T, -1, 0)  # each (rooms, 8)
        outside = (x < -w).all(1) | (x > w).all(1) | (y < -w).all(1) | (y > w).all(1) | (z < -w).all(1)
        lo, hi = self._room_boxes[:, :2], self._room_boxes[:, 2:]
        gap = np.maximum(np.maximum(lo - eye[[0, 2]], eye[[0, 2]] - hi), 0.0)
        order = np.argsort((gap**2).sum(1), kind="stable")
        return [self.mesh.chunks[i][:2] for i in order if not outside[i] and self.mesh.chunks[i][1]]

    def _release_buffers(self) -> None:
        for resource in self._resources:
            resource.release()
        self._resources = []
        self._vao = self._surface_vao = self._lightmap = None

    def close(self) -> None:
        """Free the GL context (the renderer cannot be used afterwards)."""
        if self.ctx is not None:
            self._release_buffers()
            self.ctx.release()
            self.ctx = None

    def __enter__(self):  # -> the renderer itself
        return self

    def __exit__(self, *exc) -> None:
        self.close()

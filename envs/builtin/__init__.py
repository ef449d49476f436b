"""The built-in procedural house simulator (CPU, moderngl on EGL)."""

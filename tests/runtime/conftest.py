from runtime.tiny_release import release_copy, tiny_release_dir

__all__ = ["release_copy", "tiny_release_dir"]

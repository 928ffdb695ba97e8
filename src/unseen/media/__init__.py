"""Photo files: read by content, decode safely, write a pixel-only copy, prove the metadata gone."""

from unseen.media.image import ImageFormat, LoadedImage, load_image, read_back, save_image, sniff_format

__all__ = ["ImageFormat", "LoadedImage", "load_image", "read_back", "save_image", "sniff_format"]

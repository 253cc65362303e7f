"""The readers behind :mod:`initcli.readers`, one module per kind of file.

* :mod:`.stored` -- :class:`StoredTensor` and :class:`StoredFile`;
* :mod:`.guard` -- the one place where low-level exceptions become initcli errors
  naming the file, and where a FILE is checked to be a regular file before it is opened;
* :mod:`.npy` -- ``.npy`` files and ``.npz`` archives (headers checked against sizes,
  plain reads, never a memory map, never pickle);
* :mod:`.hdf5` -- HDF5 files and the weights inside ``.keras`` archives (links,
  external and virtual storage refused, declared sizes checked against stored bytes).
"""

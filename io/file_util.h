// Whole-file helpers: read a file into memory, replace a file atomically (temporary file in the same
// folder, fsync, rename), and mkdir -p. Every failure throws iris::Error naming the path and the reason.
// Leaves out: file locking, memory mapping, and fsync of the parent folder on filesystems that refuse it.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace iris {

// The whole file as bytes; throws naming the file when it is missing, not a regular file or unreadable.
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` so that readers see either the old file or the whole new one: writes a
// temporary file in the same folder, fflush + fsync, then rename over `path`. On any failure the
// temporary file is removed and an iris::Error names the path. After a successful write, temporary
// files of `path` left by processes that no longer run (killed mid-write) are removed too.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The same, for contents too large to build in memory first: `write_contents` writes into the open
// temporary file (e.g. with write_all below) and may throw; nothing is renamed unless it returns and
// every write succeeded.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write_contents);

// fwrite of n bytes that throws naming `path` when the write comes up short.
void write_all(std::FILE* f, const void* data, size_t n, const std::string& path);

// mkdir -p: creates `path` and any missing parents; fine when it already exists as a folder.
void make_dirs(const std::string& path);

// True when `path` names an existing file or folder.
bool path_exists(const std::string& path);

// The folder part of a path ("runs/a/w.safetensors" -> "runs/a"; "w.safetensors" -> ".").
std::string folder_of(const std::string& path);

// The path of a file named `name` beside `path` (a tokenizer next to its weights). `name` comes from the
// file's own metadata, so it must be a bare file name: one with folders ("../../x"), "." or ".." throws,
// naming `path` and `what` (e.g. "metadata 'tokenizer'").
std::string file_beside(const std::string& path, const std::string& name, const std::string& what);

}  // namespace iris

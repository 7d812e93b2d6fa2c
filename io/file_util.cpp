// read_file, write_file_atomic (temporary file + fflush + fsync + rename) and make_dirs (mkdir -p)
// on POSIX calls, with error messages that name the path and strerror's reason.
// Leaves out: Windows (rename over an existing file and fsync differ there).
#include "io/file_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tensor/error.h"

namespace iris {

namespace {

std::string reason() { return std::strerror(errno); }

// "dir/name" -> "dir/.name.tmp-<pid>-<n>": same folder (so rename is atomic), hidden, unique per process.
std::string temp_path_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return cat_str(dir, ".", name, ".tmp-", static_cast<long>(::getpid()), "-", counter++);
}

// Removes "dir/.name.tmp-<pid>-<n>" files left by processes that no longer run (a kill -9 during
// a write), so a run killed many times does not collect them. A live process's are left alone.
void remove_stale_temps(const std::string& path) {
  size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string prefix = "." + (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(file.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || !end || *end != '-' || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  IRIS_CHECK(!path.empty(), "read_file: the path is empty");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  IRIS_CHECK(f != nullptr, "read_file: cannot open '", path, "': ", reason());
  struct stat st;
  if (::fstat(::fileno(f), &st) != 0) {
    std::string why = reason();
    std::fclose(f);
    throw Error(cat_str("read_file: cannot stat '", path, "': ", why));
  }
  if (!S_ISREG(st.st_mode)) {
    std::fclose(f);
    throw Error(cat_str("read_file: '", path, "' is ", S_ISDIR(st.st_mode) ? "a folder" : "not a regular file",
                        "; give the path of a file"));
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), f)) > 0) bytes.append(chunk, got);
  bool failed = std::ferror(f) != 0;
  std::string why = failed ? reason() : "";
  std::fclose(f);
  IRIS_CHECK(!failed, "read_file: error while reading '", path, "': ", why);
  return bytes;
}

void write_all(std::FILE* f, const void* data, size_t n, const std::string& path) {
  if (n == 0) return;
  size_t wrote = std::fwrite(data, 1, n, f);
  IRIS_CHECK(wrote == n, "write: could not write ", n, " bytes to '", path, "' (wrote ", wrote, "): ", reason());
}

void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write_contents) {
  IRIS_CHECK(!path.empty(), "write_file_atomic: the path is empty");
  IRIS_CHECK(path.back() != '/', "write_file_atomic: '", path, "' names a folder; give a file name");
  std::string tmp = temp_path_for(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wbx");  // x: fail rather than reuse an existing file
  IRIS_CHECK(f != nullptr, "write_file_atomic: cannot create a temporary file next to '", path, "' (", tmp,
             "): ", reason(), "; does the folder exist and is it writable?");
  auto fail = [&](const std::string& why) {
    if (f != nullptr) std::fclose(f);
    std::remove(tmp.c_str());
    throw Error(cat_str("write_file_atomic: could not write '", path, "': ", why));
  };
  try {
    write_contents(f);
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("the writer threw an unknown exception");
  }
  if (std::ferror(f)) fail(cat_str("a write failed: ", reason()));
  if (std::fflush(f) != 0) fail(cat_str("fflush failed: ", reason()));
  if (::fsync(::fileno(f)) != 0) fail(cat_str("fsync failed: ", reason()));
  int close_rc = std::fclose(f);
  f = nullptr;
  if (close_rc != 0) fail(cat_str("closing the temporary file failed: ", reason()));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(cat_str("renaming the temporary file onto it failed: ", reason()));
  remove_stale_temps(path);
  // Make the rename itself durable: fsync the folder (best effort; some filesystems refuse).
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](std::FILE* f) { write_all(f, bytes.data(), bytes.size(), path); });
}

void make_dirs(const std::string& path) {
  IRIS_CHECK(!path.empty(), "make_dirs: the path is empty");
  std::error_code ec;
  IRIS_CHECK(!std::filesystem::exists(path, ec) || std::filesystem::is_directory(path, ec), "make_dirs: '", path,
             "' exists but is not a folder; choose another path or remove it");
  std::filesystem::create_directories(path, ec);
  if (ec) {
    throw Error(cat_str("make_dirs: cannot create the folder '", path, "': ", ec.message()));
  }
  IRIS_CHECK(std::filesystem::is_directory(path, ec), "make_dirs: '", path,
             "' exists but is not a folder; choose another path or remove it");
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::string file_beside(const std::string& path, const std::string& name, const std::string& what) {
  IRIS_CHECK(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..", path, ": ", what,
             " is '", name, "'; it must be a file name beside the weights, without folders");
  return folder_of(path) + "/" + name;
}

}  // namespace iris

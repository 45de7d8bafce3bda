// Copyright the gem authors. Status: the outcome of an operation that can fail.
//
// Errors are values in libgem: every public function that can fail returns a Status (or a
// Result<T>, below) and never lets an exception escape. A Status is OK or carries a code and a
// message that names the thing that failed and why, e.g. "model.safetensors: truncated header".
//
// Thread-safety: a Status is a value; distinct objects may be used from distinct threads, and
// const methods may be called concurrently on one object.
#ifndef GEM_STATUS_H_
#define GEM_STATUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gem {

class [[nodiscard]] Status {
 public:
  // Persisted in job records and sent on the wire (docs/PROTOCOL.md): do not renumber.
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,
    kNotSupported = 3,
    kInvalidArgument = 4,
    kIOError = 5,
    kAborted = 6,      // cancelled on request
    kUnavailable = 7,  // a peer or resource is not (yet) there; retrying may help
    kResourceExhausted = 8,
    kInternal = 9,
    kFailedPrecondition = 10,
    kPermissionDenied = 11,  // the caller's role does not allow it (gemd's access control)
  };

  // An OK status. Free: no allocation.
  Status() noexcept = default;
  static Status OK() { return Status(); }

  static Status NotFound(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kNotFound, msg, msg2);
  }
  static Status Corruption(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kCorruption, msg, msg2);
  }
  static Status NotSupported(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kNotSupported, msg, msg2);
  }
  static Status InvalidArgument(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kInvalidArgument, msg, msg2);
  }
  static Status IOError(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kIOError, msg, msg2);
  }
  static Status Aborted(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kAborted, msg, msg2);
  }
  static Status Unavailable(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kUnavailable, msg, msg2);
  }
  static Status ResourceExhausted(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kResourceExhausted, msg, msg2);
  }
  static Status Internal(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kInternal, msg, msg2);
  }
  static Status FailedPrecondition(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kFailedPrecondition, msg, msg2);
  }
  static Status PermissionDenied(std::string_view msg, std::string_view msg2 = {}) {
    return Status(Code::kPermissionDenied, msg, msg2);
  }
  // Rebuilds a status from its parts (e.g. decoded from the wire).
  static Status FromCode(Code code, std::string_view msg) { return Status(code, msg, {}); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNotSupported() const { return code_ == Code::kNotSupported; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsAborted() const { return code_ == Code::kAborted; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsPermissionDenied() const { return code_ == Code::kPermissionDenied; }

  // The message alone ("" when OK).
  const std::string& message() const { return msg_; }
  // "OK", or "<Code name>: <message>".
  std::string ToString() const;
  // The code's name, e.g. "InvalidArgument".
  static const char* CodeName(Code code);

  // Returns a copy whose message is prefixed with `context + ": "`; OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string_view msg, std::string_view msg2);

  Code code_ = Code::kOk;
  std::string msg_;
};

// Result<T>: a T or a non-OK Status. Accessing value() on an error is a programming error
// (asserts in debug builds).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace gem

// Returns early from the enclosing function when `expr` gives a non-OK Status.
#define GEM_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::gem::Status _gem_st = (expr);          \
    if (!_gem_st.ok()) return _gem_st;       \
  } while (0)

#endif  // GEM_STATUS_H_

// Splits a fuzzer's input into typed pieces, the way FuzzedDataProvider does, without it: the
// fuzz targets stay buildable with any libFuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace opsmeter::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  bool empty() const { return size_ == 0; }
  std::uint8_t byte() {
    if (size_ == 0) return 0;
    const auto b = static_cast<std::uint8_t>(*data_);
    ++data_;
    --size_;
    return b;
  }
  std::int64_t integer() {
    std::int64_t value = 0;
    const std::size_t n = size_ < sizeof value ? size_ : sizeof value;
    std::memcpy(&value, data_, n);
    data_ += n;
    size_ -= n;
    return value;
  }
  // Up to `max` bytes, its length taken from the next byte.
  std::string text(std::size_t max = 255) {
    std::size_t n = byte();
    if (n > max) n = max;
    if (n > size_) n = size_;
    std::string out(data_, n);
    data_ += n;
    size_ -= n;
    return out;
  }
  std::string_view rest() const { return std::string_view(data_, size_); }

 private:
  const char* data_;
  std::size_t size_;
};

}  // namespace opsmeter::fuzz

// Aligned text tables for meshctl's output, kubectl style: an upper-case header row, columns
// separated by at least three spaces, every cell left-aligned, no trailing spaces.
#pragma once

#include <string>
#include <vector>

namespace meshd::cli {

class Table {
public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Missing cells are empty; extra ones are dropped.
  void addRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // The header and every row, each line ending in '\n'. Widths count bytes (UTF-8 names are rare
  // in config; alignment is then approximate).
  std::string render() const;

private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

} // namespace meshd::cli

// Aligned text tables (see table.h).
#include "cli/table.h"

#include <algorithm>

namespace meshd::cli {
namespace {

constexpr size_t kGap = 3;

void appendLine(std::string& out, const std::vector<std::string>& cells,
                const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string& cell = i < cells.size() ? cells[i] : std::string();
    line += cell;
    if (i + 1 < widths.size()) {
      line.append(widths[i] + kGap - cell.size(), ' ');
    }
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  out += line;
  out += '\n';
}

} // namespace

void Table::addRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    widths[i] = headers_[i].size();
    for (const auto& row : rows_) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  appendLine(out, headers_, widths);
  for (const auto& row : rows_) {
    appendLine(out, row, widths);
  }
  return out;
}

} // namespace meshd::cli

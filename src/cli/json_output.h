#pragma once
// JSON output for `--json`: Boost.JSON values printed with two-space indentation and a final
// newline, so both scripts and people can read them.

#include <boost/json/value.hpp>
#include <string>

namespace aloft::cli {

std::string PrettyJson(const boost::json::value& value);

// Prints PrettyJson(value) to stdout.
void PrintJson(const boost::json::value& value);

}  // namespace aloft::cli

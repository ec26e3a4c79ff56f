#include "cli/json_output.h"

#include <boost/json.hpp>
#include <cstdio>

namespace aloft::cli {
namespace {

void Append(const boost::json::value& value, std::string& out, int indent) {
  auto newline = [&](int level) {
    out.push_back('\n');
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  switch (value.kind()) {
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& member : object) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        newline(indent + 1);
        out += boost::json::serialize(boost::json::string(member.key()));
        out += ": ";
        Append(member.value(), out, indent + 1);
      }
      newline(indent);
      out.push_back('}');
      return;
    }
    case boost::json::kind::array: {
      const auto& array = value.get_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const auto& element : array) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        newline(indent + 1);
        Append(element, out, indent + 1);
      }
      newline(indent);
      out.push_back(']');
      return;
    }
    case boost::json::kind::string:
    case boost::json::kind::uint64:
    case boost::json::kind::int64:
    case boost::json::kind::double_:
    case boost::json::kind::bool_:
    case boost::json::kind::null:
      out += boost::json::serialize(value);
      return;
  }
}

}  // namespace

std::string PrettyJson(const boost::json::value& value) {
  std::string out;
  Append(value, out, 0);
  out.push_back('\n');
  return out;
}

void PrintJson(const boost::json::value& value) {
  std::string text = PrettyJson(value);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace aloft::cli

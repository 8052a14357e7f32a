#include "server/command_table.h"

#include <doctest/doctest.h>

namespace rd {
namespace {

TEST_CASE("the table takes arity, flags and keys from Redis's metadata") {
  CommandTable table;
  register_all_commands(table);
  const CommandSpec* get = table.find("GeT");
  REQUIRE(get != nullptr);
  CHECK(get->name == "get");
  CHECK(get->arity == 2);
  CHECK(get->has(kCmdReadonly));
  CHECK(get->has(kCmdFast));
  CHECK(get->lock == LockMode::kShared);
  CHECK(get->key_positions(2) == std::vector<int>{1});

  const CommandSpec* set = table.find("set");
  REQUIRE(set != nullptr);
  CHECK(set->arity == -3);
  CHECK(set->is_write());
  CHECK(set->lock == LockMode::kExclusive);

  const CommandSpec* mset = table.find("mset");
  REQUIRE(mset != nullptr);
  CHECK(mset->key_positions(5) == std::vector<int>{1, 3});
}

TEST_CASE("container commands hold their subcommands") {
  CommandTable table;
  register_all_commands(table);
  const CommandSpec* config = table.find("config");
  REQUIRE(config != nullptr);
  CHECK((config->handler == nullptr) == true);
  auto it = config->subcommands.find("get");
  REQUIRE(it != config->subcommands.end());
  CHECK(it->second->name == "config|get");
  CHECK(it->second->arity == -3);
  CHECK(it->second->parent == config);
}

TEST_CASE("every registered command has a handler and metadata") {
  CommandTable table;
  register_all_commands(table);
  CHECK(table.size() > 50);
  for (const CommandSpec* spec : table.all()) {
    CHECK(spec->meta != nullptr);
    CHECK((spec->handler != nullptr || !spec->subcommands.empty()) == true);
    for (const auto& [name, sub] : spec->subcommands) CHECK((sub->handler != nullptr) == true);
  }
  CHECK(table.find("nosuchcommand") == nullptr);
  CHECK(table.find(std::string(100, 'x')) == nullptr);
}

}  // namespace
}  // namespace rd

// Copyright the gem authors. Store: families, versioning, locking, batches (real RocksDB).
#include "gem/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>

#include "cache_test_util.h"

namespace gem {
namespace {

using testing::TempDir;

StoreOptions NoCreate() {
  StoreOptions o;
  o.create_if_missing = false;
  return o;
}
StoreOptions ReadOnly() {
  StoreOptions o;
  o.read_only = true;
  return o;
}
StoreOptions Extra(std::string name) {
  StoreOptions o;
  o.extra_families = {std::move(name)};
  return o;
}

TEST(StoreTest, CreatesFamiliesAndVersionAndReopens) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->format_version(), Store::kFormatVersion);
    for (int f = 0; f < kNumFamilies; ++f) {
      EXPECT_NE((*store)->handle(static_cast<Family>(f)), nullptr) << f;
    }
    ASSERT_TRUE((*store)->Put(Family::kJobs, "job/1", "running").ok());
    std::string v;
    ASSERT_TRUE((*store)->Get(Family::kMeta, "format_version", &v).ok());
    EXPECT_EQ(v, "1");
  }
  auto store = Store::Open(path, NoCreate());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string v;
  ASSERT_TRUE((*store)->Get(Family::kJobs, "job/1", &v).ok());
  EXPECT_EQ(v, "running");
  EXPECT_TRUE((*store)->Get(Family::kTrees, "job/1", &v).IsNotFound());
  EXPECT_GT((*store)->SizeOnDisk(), 0u);
}

TEST(StoreTest, MissingWithoutCreateIsNotFound) {
  TempDir dir;
  auto store = Store::Open(dir.Sub("nothing"), NoCreate());
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
}

TEST(StoreTest, NewerFormatVersionIsRefusedWithClearMessage) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put(Family::kMeta, "format_version", "2").ok());
  }
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
  const std::string msg = store.status().message();
  EXPECT_NE(msg.find("version 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(StoreTest, ForeignRocksDbIsRefused) {
  TempDir dir;
  const std::string path = dir.Sub("foreign");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, path, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "someone", "else").ok());
    delete db;
  }
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("not a gem store"), std::string::npos);
}

TEST(StoreTest, NonEmptyNonDatabaseDirectoryIsRefused) {
  TempDir dir;
  std::ofstream(dir.Sub("notes.txt")) << "my files";
  auto store = Store::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("notes.txt")));
}

TEST(StoreTest, SecondWriterIsUnavailableReadOnlyIsAllowed) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  auto first = Store::Open(path);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Put(Family::kTrees, "t", "1").ok());
  auto second = Store::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status().ToString();
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos);

  auto reader = Store::Open(path, ReadOnly());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string v;
  ASSERT_TRUE((*reader)->Get(Family::kTrees, "t", &v).ok());
  EXPECT_EQ(v, "1");
  Status w = (*reader)->Put(Family::kTrees, "t", "2");
  EXPECT_EQ(w.code(), Status::Code::kFailedPrecondition);
}

TEST(StoreTest, ExtraFamiliesAreCreatedAndReopened) {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    auto store = Store::Open(path, Extra("progress"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto* h = (*store)->handle("progress");
    ASSERT_NE(h, nullptr);
    Store::Batch b(store->get());
    b.Put(h, "k", "v");
    b.Put(Family::kJobs, "j", "x");
    ASSERT_TRUE((*store)->Write(&b).ok());
  }
  // Opening without naming it still opens it (RocksDB requires every family to be opened).
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto* h = (*store)->handle("progress");
  ASSERT_NE(h, nullptr);
  std::string v;
  ASSERT_TRUE((*store)->db()->Get(rocksdb::ReadOptions(), h, "k", &v).ok());
  EXPECT_EQ(v, "v");
  EXPECT_FALSE(Store::Open(dir.Sub("db2"), Extra("gem.x")).ok());
}

TEST(StoreTest, ScanVisitsPrefixInOrderAndStops) {
  TempDir dir;
  auto store = Store::Open(dir.Sub("db"));
  ASSERT_TRUE(store.ok());
  Store::Batch b(store->get());
  for (const char* k : {"a/2", "a/1", "b/1", "a/3", "c"}) b.Put(Family::kJobs, k, k);
  EXPECT_EQ(b.count(), 5u);
  ASSERT_TRUE((*store)->Write(&b).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kJobs, "a/",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(k, v);
                           seen.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "a/3"}));
  seen.clear();
  ASSERT_TRUE((*store)
                  ->Scan(Family::kJobs, "",
                         [&](std::string_view k, std::string_view) {
                           seen.emplace_back(k);
                           return seen.size() < 2;
                         })
                  .ok());
  EXPECT_EQ(seen.size(), 2u);
  ASSERT_TRUE((*store)->Delete(Family::kJobs, "a/1").ok());
  std::string v;
  EXPECT_TRUE((*store)->Get(Family::kJobs, "a/1", &v).IsNotFound());
}

}  // namespace
}  // namespace gem

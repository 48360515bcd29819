// The PostgreSQL connections that a cluster node's stores and leadership share.
//
// With placement by app a node may host hundreds of apps. A connection of its own for each app's
// writer, plus one for each load and each epoch read, would exhaust PostgreSQL's max_connections
// (100 by default): a takeover that cannot connect restarts the node, and its apps go to nodes
// that then cannot connect either. Instead each user borrows a connection for one transaction (a
// commit, a load, an epoch raised or read) and gives it back. An app's commits are still sent
// one after another by its own writer thread, so whichever connection carries each keeps their
// order; and none is held while a failed commit waits to be tried again.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.h"

namespace liveroom::store {

class PgPool {
 public:
  // At most `size` connections to `url`, opened when first needed.
  PgPool(std::string url, size_t size);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection lent for one transaction; given back when it ends, unless it broke or was left
  // inside a transaction (it is closed then, and a fresh one opened when next needed).
  class Borrowed {
   public:
    Borrowed(Borrowed&& other) noexcept = default;
    Borrowed& operator=(Borrowed&&) = delete;
    ~Borrowed();
    PgConnection& operator*() const { return *connection_; }
    PgConnection* operator->() const { return connection_.get(); }

   private:
    friend class PgPool;
    Borrowed(PgPool* pool, std::unique_ptr<PgConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    PgPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  // Waits until a connection is free, opening one while fewer than `size` are open. Throws
  // PgError (connection_lost) if PostgreSQL cannot be reached.
  Borrowed borrow();

  size_t open_connections() const;

 private:
  void give_back(std::unique_ptr<PgConnection> connection);

  const std::string url_;
  const size_t size_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  size_t open_ = 0;  // lent, idle, or being opened
};

}  // namespace liveroom::store

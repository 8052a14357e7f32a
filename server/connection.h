// The per-connection thread body (see connection.cc).
#pragma once

#include <memory>

namespace rd {

class Server;
class Client;

// Serves `client` until it disconnects, is killed or the server shuts down, then releases
// everything it held and removes it from the server.
void serve_connection(Server& server, const std::shared_ptr<Client>& client);

}  // namespace rd

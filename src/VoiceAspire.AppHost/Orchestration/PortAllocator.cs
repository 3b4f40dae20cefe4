using System.Net;
using System.Net.Sockets;

namespace VoiceAspire.AppHost.Orchestration;

/// <summary>Ports the host hands out: fixed ones are checked, 0 becomes a loopback port that is free right now.</summary>
internal static class PortAllocator
{
    public static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static bool IsFree(IPAddress address, int port)
    {
        try
        {
            var listener = new TcpListener(address, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

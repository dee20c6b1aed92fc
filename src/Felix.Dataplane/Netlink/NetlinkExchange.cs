using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>Hands one message of an answer to its reader.</summary>
internal delegate void MessageReader(NetlinkMessage message);

/// <summary>Hands one pipelined request's answer to its reader, with the request's place in the batch.</summary>
internal delegate void AnswerReader(int index, NetlinkMessage message);

/// <summary>
/// The two ways an answer comes back on a request socket, shared by every netlink family the agent
/// speaks: a dump (messages until <c>NLMSG_DONE</c>) and a window of pipelined requests (one
/// answer each, matched by sequence number). Answers to earlier requests that timed out are
/// skipped, never taken for the current one's.
/// </summary>
internal static class NetlinkExchange
{
    /// <summary>Reads a dump's answer, each message to <paramref name="read"/>; whether the kernel flagged it interrupted.</summary>
    /// <exception cref="NetlinkException">The kernel refused the dump.</exception>
    public static bool ReadDump(NetlinkSocket socket, byte[] buffer, uint sequence, MessageReader read)
    {
        var interrupted = false;
        while (true)
        {
            var reader = new NetlinkReader(buffer.AsSpan(0, socket.Receive(buffer)));
            while (reader.TryRead(out var message))
            {
                if (message.Header.nlmsg_seq != sequence)
                {
                    continue;
                }
                interrupted |= (message.Header.nlmsg_flags & NLM_F_DUMP_INTR) != 0;
                switch (message.Header.nlmsg_type)
                {
                    case NLMSG_DONE:
                        return interrupted;
                    case NLMSG_ERROR:
                        var (errno, text) = RtnetlinkMessages.DecodeError(message);
                        throw new NetlinkException($"dump refused: {new NetlinkError(errno, Errno.Name(errno), text)}");
                    default:
                        read(message);
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Reads until each of <paramref name="count"/> pipelined requests, numbered from
    /// <paramref name="first"/>, has had its one answer (a message of <paramref name="answerType"/>,
    /// or <c>NLMSG_ERROR</c>), and hands each to <paramref name="read"/> with its request's place.
    /// </summary>
    /// <exception cref="NetlinkException">An answer could not be read.</exception>
    public static void ReadAnswers(NetlinkSocket socket, byte[] buffer, int count, uint first, ushort answerType, string what, AnswerReader read)
    {
        var pending = count;
        var seen = new bool[count];
        try
        {
            while (pending > 0)
            {
                var reader = new NetlinkReader(buffer.AsSpan(0, socket.Receive(buffer)));
                while (reader.TryRead(out var message))
                {
                    var index = unchecked((int)(message.Header.nlmsg_seq - first));
                    if ((message.Header.nlmsg_type != answerType && message.Header.nlmsg_type != NLMSG_ERROR) || index < 0 || index >= count || seen[index])
                    {
                        continue;
                    }
                    read(index, message);
                    seen[index] = true;
                    pending--;
                }
            }
        }
        catch (MalformedNetlinkException e)
        {
            throw new NetlinkException($"the kernel's {what} could not be read: {e.Message}", e);
        }
    }
}

using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting.Logging;

/// <summary>
/// Formats one log event as one line. Under journald (<c>JOURNAL_STREAM</c> set) the line starts
/// with its syslog priority (<c>&lt;4&gt;</c>) so <c>journalctl -p warning</c> works, and journald
/// supplies the time; otherwise it carries a timestamp, level and pid for a terminal or a file.
/// Line breaks inside the message or exception are folded, so one event is one journal entry, and
/// other control characters are escaped.
/// </summary>
public sealed class LogLineFormatter
{
    private readonly bool _journal;
    private readonly int _processId;

    public LogLineFormatter(bool journal, int processId)
    {
        _journal = journal;
        _processId = processId;
    }

    public bool Journal => _journal;

    public string Format(DateTimeOffset time, LogLevel level, string category, string message, Exception? exception)
    {
        var line = new StringBuilder(128);
        if (_journal)
        {
            line.Append('<').Append(SyslogPriority(level)).Append('>');
        }
        else
        {
            line.Append(time.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))
                .Append(" [").Append(LevelName(level)).Append("][").Append(_processId).Append("] ");
        }
        line.Append(ShortCategory(category)).Append(": ");
        AppendFolded(line, message);
        if (exception is not null)
        {
            line.Append(": ");
            AppendFolded(line, exception.ToString());
        }
        return line.ToString();
    }

    /// <summary>syslog(3) priorities: 2 crit, 3 err, 4 warning, 6 info, 7 debug.</summary>
    public static int SyslogPriority(LogLevel level) => level switch
    {
        LogLevel.Critical => 2,
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Information => 6,
        _ => 7,
    };

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Critical => "CRITICAL",
        LogLevel.Error => "ERROR",
        LogLevel.Warning => "WARNING",
        LogLevel.Information => "INFO",
        LogLevel.Debug => "DEBUG",
        _ => "TRACE",
    };

    // "Felix.Agent.Hosting.Health.HealthServer" reads as "HealthServer": the class is enough to
    // find the code, and the full namespace only widens every line.
    private static ReadOnlySpan<char> ShortCategory(string category)
    {
        var dot = category.LastIndexOf('.');
        return dot < 0 ? category : category.AsSpan(dot + 1);
    }

    private static void AppendFolded(StringBuilder line, string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
                line.Append(@"\n");
            }
            else if (c == '\n')
            {
                line.Append(@"\n");
            }
            else if (char.IsControl(c) && c != '\t')
            {
                // Values from etcd end up in messages: no escape sequence reaches a terminal.
                line.Append(@"\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                line.Append(c);
            }
        }
    }
}

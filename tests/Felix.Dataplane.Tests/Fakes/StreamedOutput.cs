using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// What <see cref="ProcessCommandRunner"/> does with the output of a command that takes it by
/// lines (<see cref="Command.OutputLines"/>): each line goes to the reader, the result's stdout is
/// empty. The fakes record the whole result and give back this one.
/// </summary>
internal static class StreamedOutput
{
    public static CommandResult Deliver(Command command, CommandResult result)
    {
        if (command.OutputLines is not { } lines)
        {
            return result;
        }
        OutputLines.Feed(result.StandardOutput, lines);
        return result with { StandardOutput = string.Empty };
    }
}

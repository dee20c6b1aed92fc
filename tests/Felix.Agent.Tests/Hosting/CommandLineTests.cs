using Felix.Agent.Hosting;
using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Tests.Hosting;

public class CommandLineTests
{
    [Fact]
    public void No_arguments_runs_with_the_default_config_file() =>
        Assert.Equal(new CommandLine.Run(null), CommandLine.Parse([]));

    [Theory]
    [InlineData("--config-file", "/x.cfg")]
    [InlineData("-c", "/x.cfg")]
    public void Config_file_takes_a_path(string option, string path) =>
        Assert.Equal(new CommandLine.Run(path), CommandLine.Parse([option, path]));

    [Fact]
    public void Config_file_accepts_the_equals_form() =>
        Assert.Equal(new CommandLine.Run("/y.cfg"), CommandLine.Parse(["--config-file=/y.cfg"]));

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_is_recognised(string arg) => Assert.IsType<CommandLine.ShowHelp>(CommandLine.Parse([arg]));

    [Fact]
    public void Version_is_recognised() => Assert.IsType<CommandLine.ShowVersion>(CommandLine.Parse(["--version"]));

    [Theory]
    [InlineData("--config-file")]
    [InlineData("--bogus")]
    [InlineData("extra")]
    public void Malformed_arguments_are_invalid(string arg) =>
        Assert.IsType<CommandLine.Invalid>(CommandLine.Parse([arg]));

    [Fact]
    public void Help_lists_every_option_and_every_parameter_with_its_default()
    {
        var help = CommandLine.HelpText();
        Assert.Contains("--config-file PATH", help, StringComparison.Ordinal);
        Assert.Contains("--version", help, StringComparison.Ordinal);
        Assert.Contains("--help", help, StringComparison.Ordinal);
        foreach (var parameter in ConfigParameters.All)
        {
            var line = help.Split('\n').Single(l => l.TrimStart().StartsWith(parameter.Name + " ", StringComparison.Ordinal));
            Assert.EndsWith($"[default: {parameter.DefaultText}]", line, StringComparison.Ordinal);
        }
    }
}

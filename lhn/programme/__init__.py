"""The network's improvement programme: key driver diagrams (an aim, the drivers that move it and the change ideas
tested against them, versioned), with each change idea's status read from its PDSA cycles at every site.

It ranks above posts and measures: a diagram links a community's outcome measure, its ideas and their cycles."""

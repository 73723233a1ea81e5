module directpath.lab/wanem

go 1.22
